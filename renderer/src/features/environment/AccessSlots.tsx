/**
 * Where SSH, "Open in VS Code" and forwarded ports go once environments have a network (later
 * issues). Said plainly rather than shown with made-up values.
 */
export function AccessSlots({ name }: { name: string }) {
  const slots = [
    { title: 'SSH', what: `A terminal in it, with ssh ${name}.hearth` },
    { title: 'Open in VS Code', what: 'VS Code on your desktop, connected over Remote-SSH' },
    { title: 'Ports', what: 'Ports its services listen on, forwarded to this machine' },
  ];
  return (
    <section className="card" aria-labelledby="access-title" data-testid="access">
      <h2 id="access-title">Access</h2>
      <p className="banner banner-info">Available when the environment has a network (coming with Linux images).</p>
      <ul className="access-slots">
        {slots.map((slot) => (
          <li key={slot.title} className="access-slot">
            <strong>{slot.title}</strong>
            <span className="muted small">{slot.what}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
