import { useEffect, useId, useRef } from 'react';
import { hrefOf, navigate } from '../../app/router.js';
import { Button } from '../../ui/Button.js';
import { SETUP_STEPS } from './steps.js';
import { stepIndex, type SetupStep } from './setupSteps.js';
import { useSetupContext } from './useSetup.js';
import './setup.css';

/**
 * The setup wizard: one step at a time, its place in the address (`#/setup/<step>`), Back and Next,
 * and focus on the step's heading whenever the step changes (so a screen reader says where it is).
 */
export function SetupPage({ step, steps = SETUP_STEPS }: { step?: string | undefined; steps?: readonly SetupStep[] }) {
  const context = useSetupContext();
  const index = stepIndex(steps, step);
  const current = steps[index]!;
  const headingId = useId();
  const first = useRef(true);

  useEffect(() => {
    // Not on first render: opening the page must not steal focus from the top bar's link.
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById(headingId)?.focus();
  }, [index, headingId]);

  const go = (to: number) => navigate({ page: 'setup', step: steps[to]!.id });
  const Step = current.component;

  return (
    <main className="page setup" data-testid="setup-wizard" data-setup-step={current.id}>
      <nav aria-label="Setup steps">
        <ol className="wizard-steps">
          {steps.map((s, i) => {
            const done = s.isComplete(context);
            return (
              <li key={s.id} className={`wizard-step${i === index ? ' wizard-step-current' : ''}`}>
                <a
                  href={hrefOf({ page: 'setup', step: s.id })}
                  aria-current={i === index ? 'step' : undefined}
                  data-done={done}
                >
                  <span className="wizard-step-mark" aria-hidden="true">
                    {done && s.informational !== true ? '✓' : i + 1}
                  </span>
                  {s.title}
                  {s.informational !== true && <span className="visually-hidden">{done ? ' (done)' : ' (to do)'}</span>}
                </a>
              </li>
            );
          })}
        </ol>
      </nav>
      <section className="wizard-body" aria-labelledby={headingId} data-testid={`setup-step-${current.id}`}>
        <Step context={context} headingId={headingId} />
      </section>
      <div className="wizard-nav">
        <Button onClick={() => go(index - 1)} disabled={index === 0}>
          Back
        </Button>
        <span className="muted small">
          Step {index + 1} of {steps.length}
        </span>
        {index < steps.length - 1 ? (
          <Button variant="primary" onClick={() => go(index + 1)}>
            Next: {steps[index + 1]!.title}
          </Button>
        ) : (
          <span />
        )}
      </div>
    </main>
  );
}
