import { useEffect } from 'react';
import type { SettingsSection } from '../../app/router.js';
import { useAppInfo, useHostReport } from '../../queries.js';
import { usePushed } from '../../store.js';
import { HelperState } from '../helper-state/HelperState.js';
import { ImagesSection } from '../images/ImagesSection.js';
import { ProfileSection } from '../repositories/ProfileSection.js';
import { REPOSITORY_ACCESS_TITLE, RepositoryAccessSection } from '../repositories/RepositoryAccessSection.js';
import { AppSection } from './AppSection.js';
import { ClassesSection } from './ClassesSection.js';
import { CliSection } from './CliSection.js';
import { HelperSection } from './HelperSection.js';
import { HypervisorSection } from './HypervisorSection.js';
import { useIsAdmin } from './queries.js';
import { SshSection } from './SshSection.js';
import './settings.css';

const SECTION_HEADING: Record<SettingsSection, string> = { repositories: REPOSITORY_ACCESS_TITLE };

/**
 * Settings: what hearthd keeps (classes, images, hypervisor: admins change them, members read
 * them), what each member keeps there (repository access, profile), what the app keeps (SSH,
 * login, closing the window), and the helper itself. An address naming a section
 * (`#/settings/repositories`) scrolls to it and puts focus on its heading.
 */
export function SettingsPage({ section }: { section?: SettingsSection | undefined }) {
  const connection = usePushed((s) => s.connection);
  const connected = connection?.state === 'connected';
  const admin = useIsAdmin(connected);
  const host = useHostReport(connected);
  const info = useAppInfo();
  useEffect(() => {
    if (section === undefined) return;
    const heading = document.getElementById(SECTION_HEADING[section]);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- jsdom (the renderer tests) has none
    heading?.scrollIntoView?.({ block: 'start' });
    heading?.focus({ preventScroll: true });
  }, [section]);

  return (
    <main className="page" data-testid="settings">
      <h1 className="visually-hidden">Settings</h1>
      <HelperState />
      <ClassesSection connected={connected} admin={admin} />
      <ImagesSection connected={connected} admin={admin} />
      <HypervisorSection connected={connected} admin={admin} host={host.data ?? null} />
      <SshSection />
      <RepositoryAccessSection connected={connected} />
      <ProfileSection connected={connected} />
      {info.data && <AppSection info={info.data} />}
      <CliSection />
      <HelperSection info={info.data} />
    </main>
  );
}
