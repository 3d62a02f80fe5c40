import { describe, expect, it } from 'vitest';
import { parseRepositoryUrl } from '../repository-url.js';

const location = (url: string) => {
  const check = parseRepositoryUrl(url);
  if (!check.ok) throw new Error(`${url}: ${check.reason}`);
  return check.location;
};
const reason = (url: string) => {
  const check = parseRepositoryUrl(url);
  expect(check.ok, url).toBe(false);
  return check.ok ? '' : check.reason;
};

describe('repository URLs', () => {
  it('accepts https and the two SSH forms, and names the clone directory', () => {
    expect(location('https://github.com/hearth/app.git')).toEqual({
      transport: 'https',
      host: 'github.com',
      port: null,
      credentialHost: 'github.com',
      user: null,
      path: 'hearth/app.git',
      directory: 'app',
      url: 'https://github.com/hearth/app.git',
    });
    expect(location('git@gitlab.com:group/sub/tool.git')).toMatchObject({
      transport: 'ssh',
      host: 'gitlab.com',
      user: 'git',
      path: 'group/sub/tool.git',
      directory: 'tool',
    });
    expect(location('git@192.0.2.1:/srv/git/app.git')).toMatchObject({ host: '192.0.2.1', path: 'srv/git/app.git' });
    expect(location('ssh://git@git.example.org:2222/team/repo')).toMatchObject({
      transport: 'ssh',
      port: 2222,
      credentialHost: 'git.example.org:2222',
      directory: 'repo',
    });
    // Default ports are not part of the key; IP literals are hosts.
    expect(location('https://192.0.2.1:443/x/y.git').credentialHost).toBe('192.0.2.1');
    expect(location('https://192.0.2.1:8443/x/y.git').credentialHost).toBe('192.0.2.1:8443');
    expect(location('https://[2001:db8::1]/x/y').host).toBe('[2001:db8::1]');
    expect(location('https://[::ffff:192.0.2.1]:8443/x/y').credentialHost).toBe('[::ffff:192.0.2.1]:8443');
    expect(location('https://GitHub.COM/Org/Repo').host).toBe('github.com');
    // Azure DevOps puts the organisation in userinfo (no secret), and _git in the path.
    expect(location('https://org@dev.azure.com/org/project/_git/repo')).toMatchObject({
      user: 'org',
      directory: 'repo',
    });
  });

  it.each([
    ['/srv/git/repo.git', /local path/],
    ['./repo', /local path/],
    ['~/repo', /local path/],
    ['file:///srv/repo.git', /Only https/],
    ['git://github.com/a/b.git', /Only https/],
    ['ext::sh', /Only https/],
    ['fd::17', /Only https/],
    ['transport::https://github.com/a/b', /Only https/],
    ['http://github.com/a/b.git', /in clear/],
    ['https://user:token@github.com/a/b.git', /password or token/],
    ['https://:token@github.com/a/b.git', /password or token/],
    ['--upload-pack=touch /tmp/x', /spaces/],
    ['--upload-pack=x', /https:\/\/ URL, or an SSH one/],
    ['ssh://-oProxyCommand=x/y', /start with "-"/],
    ['git@-oProxyCommand=x:y', /start with "-"/],
    ['-oProxyCommand=x@host:y', /user name/],
    ['https://github.com/-a/b', /start with "-"/],
    ['git@github.com:owner/--upload-pack=x', /start with "-"/],
    ['https://github.com/a b', /spaces/],
    ['https://github.com/a\tb', /spaces/],
    ['https://github.com/a\nb', /spaces/],
    ['https://github.com/a\u0000b', /spaces/],
    ['https://exa_mple.com/a/b', /valid host name/],
    ['https://example..com/a/b', /valid host name/],
    ['https://999.1.1.1/a/b', /IPv4/],
    ['https://[zz::1]/a/b', /IPv6/],
    ['https://[1::2::3]/a/b', /IPv6/],
    ['https://[1:2:3:4:5:6:7:8:9]/a/b', /IPv6/],
    ['https://github.com:0/a/b', /outside 1–65535/],
    ['https://github.com:65536/a/b', /outside 1–65535/],
    ['https://github.com', /no repository path/],
    ['https://github.com/', /no repository path/],
    ['https://github.com/a/b?x=1', /query/],
    ['https://github.com/a/../b', /path segment/],
    ['https://github.com/a/%2e%2e%2fb', /escapes/],
    ['https://github.com/a/b%00', /escapes/],
    ['https://github.com/a/.git', /directory name/],
    ['ssh://github.com/a/b', /names its user/],
    ['git@github.com://a/b', /path segment|no repository path/],
    ['github.com:a/b', /https:\/\/ URL, or an SSH one/],
    ['', /Enter/],
  ])('refuses %j', (url, why) => {
    expect(reason(url)).toMatch(why);
  });

  it('refuses what is too long', () => {
    expect(reason(`https://github.com/${'a/'.repeat(1100)}b`)).toMatch(/at most 2048/);
  });
});
