import { useState } from 'react';
import type { EnvironmentClass } from '#protocol';
import { Button } from '../../ui/Button.js';
import { ConfirmDialog, Dialog } from '../../ui/Dialog.js';
import { useClasses } from '../environments/queries.js';
import { AdminNote } from './AdminNote.js';
import { ClassForm } from './ClassForm.js';
import { useDeleteClass } from './queries.js';

const mib = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024} GiB` : `${n} MiB`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Environment classes: everyone sees them; admins create, edit and delete them. */
export function ClassesSection(props: { connected: boolean; admin: boolean | undefined }) {
  const classes = useClasses(props.connected);
  const remove = useDeleteClass();
  const [editing, setEditing] = useState<EnvironmentClass | 'new' | null>(null);
  const [deleting, setDeleting] = useState<EnvironmentClass | null>(null);
  const canEdit = props.connected && props.admin !== false;

  return (
    <section className="card" aria-labelledby="classes-title" data-testid="classes">
      <div className="card-head">
        <div>
          <h2 id="classes-title">Environment classes</h2>
          <p className="muted small">The sizes an environment can be created with.</p>
        </div>
        {canEdit && (
          <Button variant="primary" onClick={() => setEditing('new')}>
            New class
          </Button>
        )}
      </div>
      <AdminNote admin={props.admin} />
      {classes.error && (
        <div className="banner banner-fail" role="alert">
          {message(classes.error)}
        </div>
      )}
      {remove.error && (
        <div className="banner banner-fail" role="alert" data-testid="class-delete-error">
          {message(remove.error)}
        </div>
      )}
      {classes.data && (
        <table className="settings-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">CPUs</th>
              <th scope="col">Memory</th>
              <th scope="col">Disk</th>
              <th scope="col">Description</th>
              {canEdit && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {classes.data.map((c) => (
              <tr key={c.name} data-class={c.name}>
                <th scope="row">{c.name}</th>
                <td>{c.cpus}</td>
                <td>{mib(c.memoryMiB)}</td>
                <td>{c.diskGiB} GiB</td>
                <td className="muted">{c.description}</td>
                {canEdit && (
                  <td className="settings-row-actions">
                    <Button small onClick={() => setEditing(c)} aria-label={`Edit ${c.name}`}>
                      Edit
                    </Button>
                    <Button
                      small
                      variant="ghost"
                      className="btn-danger"
                      onClick={() => setDeleting(c)}
                      aria-label={`Delete ${c.name}`}
                    >
                      Delete
                    </Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Dialog
        open={editing !== null}
        title={editing === 'new' ? 'New class' : `Edit ${editing?.name ?? ''}`}
        onClose={() => setEditing(null)}
        testId="class-dialog"
      >
        {editing !== null && (
          <ClassForm
            key={editing === 'new' ? 'new' : editing.name}
            {...(editing !== 'new' && { editing })}
            onDone={() => setEditing(null)}
            onCancel={() => setEditing(null)}
          />
        )}
      </Dialog>
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete class ${deleting?.name ?? ''}?`}
        confirmLabel="Delete class"
        onClose={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) remove.mutate(deleting.name);
          setDeleting(null);
        }}
      >
        <p>New environments can no longer use it. hearthd refuses while an environment still does.</p>
      </ConfirmDialog>
    </section>
  );
}
