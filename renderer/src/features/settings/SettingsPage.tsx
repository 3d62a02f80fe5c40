/** Slot: classes, hypervisor, app behaviour and helper status replace this. */
export function SettingsPage() {
  return (
    <main className="page">
      <section className="card">
        <h2>Settings</h2>
      </section>
    </main>
  );
}
