/** Slot: one environment's details (timeline, resources, VMM, logs, access) replace this. */
export function EnvironmentPage({ id }: { id: string }) {
  return (
    <main className="page">
      <section className="card">
        <h2>{id}</h2>
      </section>
    </main>
  );
}
