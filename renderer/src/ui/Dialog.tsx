import { useEffect, useRef, type ReactNode } from 'react';

/**
 * A modal on the native <dialog>: showModal() makes the rest of the page inert, traps focus, moves
 * it into the dialog and closes on Escape; the browser gives focus back to the opener on close.
 */
export function Dialog(props: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  const titleId = `${props.testId ?? 'dialog'}-title`;
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      data-testid={props.testId}
      // Escape fires `cancel` then `close`; report it so the owner's state follows.
      onClose={props.onClose}
    >
      {props.open && (
        <>
          <h2 id={titleId}>{props.title}</h2>
          {props.children}
        </>
      )}
    </dialog>
  );
}

/** "Are you sure?" with the destructive choice named on its button, Cancel focused first. */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  onConfirm: () => void;
  onClose: () => void;
  children: ReactNode;
}) {
  return (
    <Dialog open={props.open} title={props.title} onClose={props.onClose} testId="confirm">
      <div className="dialog-body">{props.children}</div>
      <div className="dialog-actions">
        <button type="button" className="btn" autoFocus onClick={props.onClose}>
          Cancel
        </button>
        <button type="button" className="btn btn-primary btn-destructive" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
