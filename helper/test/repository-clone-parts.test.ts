import { describe, expect, it } from 'vitest';
import { ProgressReader, type CloneProgress } from '../src/environments/repository/clone.js';
import { lastLines } from '../src/environments/repository/guest-exec.js';

describe("the clone's parts", () => {
  it("reads git's progress as it comes, split anywhere, each change once", () => {
    const seen: CloneProgress[] = [];
    const reader = new ProgressReader((p) => seen.push(p));
    const output =
      "Cloning into 'app'...\nremote: Enumerating objects: 12, done.\nremote: Counting objects:  50% (6/12)\r" +
      'remote: Counting objects: 100% (12/12), done.\nReceiving objects:   8% (1/12)\rReceiving objects:   8% (1/12)\r' +
      'Receiving objects:  45% (6/12), 1.20 MiB | 600.00 KiB/s\rReceiving objects: 100% (12/12), done.\n' +
      'Resolving deltas: 100% (3/3), done.\n';
    // In pieces that cut lines and numbers in half, as a stream does.
    for (let i = 0; i < output.length; i += 7) reader.push(output.slice(i, i + 7));
    expect(seen).toEqual([
      { phase: 'Counting objects', percent: 50 },
      { phase: 'Counting objects', percent: 100 },
      { phase: 'Receiving objects', percent: 8 },
      { phase: 'Receiving objects', percent: 45 },
      { phase: 'Receiving objects', percent: 100 },
      { phase: 'Resolving deltas', percent: 100 },
    ]);
  });

  it("keeps git's last lines as the reason", () => {
    expect(
      lastLines(
        "Cloning into 'app'...\nremote: Invalid token\nfatal: Authentication failed for 'https://h/app.git/'\n",
      ),
    ).toBe("Cloning into 'app'... / remote: Invalid token / fatal: Authentication failed for 'https://h/app.git/'");
  });
});
