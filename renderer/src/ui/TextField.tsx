import type { InputHTMLAttributes, ReactNode } from 'react';

export interface TextFieldProps extends Omit<
  InputHTMLAttributes<HTMLInputElement>,
  'id' | 'value' | 'onChange' | 'className'
> {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  /** Said under the field, and read with it. */
  help?: ReactNode;
  /** Why the value is refused: under the field, read with it, and the field marked invalid. */
  error?: string | undefined;
  /** The error paragraph's test id. */
  errorTestId?: string;
  /** A class for the field's wrapper (its place in a grid), besides `field`. */
  fieldClassName?: string;
}

/**
 * A labelled one-line text field with its help and its error, both tied to it for assistive
 * technology (`aria-describedby`, `aria-invalid`): the forms' one way of asking for text.
 */
export function TextField({
  id,
  label,
  value,
  onValue,
  help,
  error,
  errorTestId,
  fieldClassName,
  ...input
}: TextFieldProps) {
  const describedBy = [help !== undefined && `${id}-help`, error !== undefined && `${id}-error`].filter(Boolean);
  return (
    <div className={fieldClassName ? `field ${fieldClassName}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      <input
        autoComplete="off"
        spellCheck={false}
        {...input}
        id={id}
        className="input"
        value={value}
        onChange={(e) => onValue(e.target.value)}
        aria-invalid={error !== undefined}
        aria-describedby={describedBy.length ? describedBy.join(' ') : undefined}
      />
      {help !== undefined && (
        <p className="muted small" id={`${id}-help`}>
          {help}
        </p>
      )}
      {error !== undefined && (
        <p className="field-error" id={`${id}-error`} data-testid={errorTestId}>
          {error}
        </p>
      )}
    </div>
  );
}
