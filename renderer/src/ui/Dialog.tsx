import { useEffect, useRef, type KeyboardEvent, type ReactNode } from 'react';

const TABBABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * Tab from the last control goes to the first, Shift+Tab from the first to the last. showModal()
 * makes the page inert but lets Tab leave the dialog for the document itself (Chromium: focus on
 * <body>, nowhere a user can see), so the wrap is ours.
 */
function wrapTab(event: KeyboardEvent<HTMLDialogElement>): void {
  if (event.key !== 'Tab' || event.altKey || event.ctrlKey || event.metaKey) return;
  const stops = [...event.currentTarget.querySelectorAll<HTMLElement>(TABBABLE)].filter(
    (el) => el.getClientRects().length > 0,
  );
  const first = stops[0];
  const last = stops.at(-1);
  if (!first || !last) return;
  const from = document.activeElement;
  if (event.shiftKey ? from === first : from === last) {
    event.preventDefault();
    (event.shiftKey ? last : first).focus();
  }
}

/**
 * A modal on the native <dialog>: showModal() makes the rest of the page inert, moves focus into
 * the dialog and closes on Escape; the browser gives focus back to the opener on close. Tab and
 * Shift+Tab cycle inside it (wrapTab).
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
      // Escape fires `cancel`, and `close` only a task later: the owner's state must follow at
      // once, or an opener pressed in between finds it still open and its key is lost. So the
      // owner closes it (the effect above); `close` still reports any other way it closes.
      onCancel={(event) => {
        event.preventDefault();
        props.onClose();
      }}
      onClose={props.onClose}
      onKeyDown={wrapTab}
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
