import { useAppInfo, useHostReport } from '../../queries.js';
import { usePushed } from '../../store.js';
import { HelperState } from '../helper-state/HelperState.js';
import { ImagesSection } from '../images/ImagesSection.js';
import { AppSection } from './AppSection.js';
import { ClassesSection } from './ClassesSection.js';
import { HelperSection } from './HelperSection.js';
import { HypervisorSection } from './HypervisorSection.js';
import { useIsAdmin } from './queries.js';
import { SshSection } from './SshSection.js';
import './settings.css';

/**
 * Settings: what hearthd keeps (classes, images, hypervisor: admins change them, members read
 * them), what the app keeps (SSH, login, closing the window), and the helper itself.
 */
export function SettingsPage() {
  const connection = usePushed((s) => s.connection);
  const connected = connection?.state === 'connected';
  const admin = useIsAdmin(connected);
  const host = useHostReport(connected);
  const info = useAppInfo();

  return (
    <main className="page" data-testid="settings">
      <h1 className="visually-hidden">Settings</h1>
      <HelperState />
      <ClassesSection connected={connected} admin={admin} />
      <ImagesSection connected={connected} admin={admin} />
      <HypervisorSection connected={connected} admin={admin} host={host.data ?? null} />
      <SshSection />
      {info.data && <AppSection info={info.data} />}
      <HelperSection info={info.data} />
    </main>
  );
}
