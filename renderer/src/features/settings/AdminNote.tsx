/** Who may change what a member sees read-only (hearthd's admin role, issue #5). */
export const ADMIN_ONLY = 'Only root or members of hearth-admin can change this.';

export function AdminNote({ admin }: { admin: boolean | undefined }) {
  if (admin !== false) return null;
  return (
    <p className="banner banner-info settings-readonly" role="note" data-testid="admin-only">
      Read-only. {ADMIN_ONLY}
    </p>
  );
}
