import type { ButtonHTMLAttributes } from 'react';

type Variant = 'primary' | 'ghost' | 'danger' | 'default';

/** A real <button> (keyboard and screen readers for free), never submitting a form by accident. */
export function Button({
  variant = 'default',
  small = false,
  className,
  type = 'button',
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; small?: boolean }) {
  const classes = ['btn', variant !== 'default' && `btn-${variant}`, small && 'btn-small', className].filter(Boolean);
  return <button type={type} className={classes.join(' ')} {...rest} />;
}
