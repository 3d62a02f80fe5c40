import type { ComponentType } from 'react';
import type { ConnectionStatus, HostReport, ImageInfo, InstallRun } from '#protocol';

/** What every step may look at to draw itself and to say whether it is done. */
export interface SetupContext {
  connection: ConnectionStatus | null;
  /** The readiness report, once hearthd has answered (null before, or while it is unknown). */
  host: HostReport | null;
  install: InstallRun | null;
  /** The installed images, once hearthd has answered (null before, or while not connected). */
  images: ImageInfo[] | null;
}

export interface SetupStepProps {
  context: SetupContext;
  /** The step's heading id, which the wizard moves focus to and labels the step region with. */
  headingId: string;
}

/**
 * One step of the wizard. Later issues add a step (an image, repository access) by adding one
 * entry to the list the wizard is given: nothing else in the wizard knows the steps by name.
 */
export interface SetupStep {
  /** Its part of the address (`#/setup/<id>`), and its test id. */
  id: string;
  title: string;
  component: ComponentType<SetupStepProps>;
  /** Done: setup is complete when every step that can be incomplete is. */
  isComplete: (context: SetupContext) => boolean;
  /**
   * Steps that only explain (welcome) or sum up (done) do not count towards "setup is complete";
   * their `isComplete` says only whether the wizard may show them as ticked.
   */
  informational?: boolean;
}

/** Setup is complete when every counting step is: the wizard stops showing at start. */
export function setupComplete(steps: readonly SetupStep[], context: SetupContext): boolean {
  return steps.filter((s) => s.informational !== true).every((s) => s.isComplete(context));
}

/** The step an address names, else the first. */
export function stepIndex(steps: readonly SetupStep[], id: string | undefined): number {
  const index = id === undefined ? -1 : steps.findIndex((s) => s.id === id);
  return index < 0 ? 0 : index;
}

/** Whether the context is known well enough to judge completeness (no redirect on a guess). */
export function contextSettled(context: SetupContext): boolean {
  if (!context.connection || context.connection.state === 'connecting') return false;
  return context.connection.state !== 'connected' || context.host !== null;
}
