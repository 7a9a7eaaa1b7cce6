/** What every format reader returns: the section's lines, in file order. */
export interface FileLine {
  readonly key: string;
  readonly value: string;
  /** 1-based line number in the file. */
  readonly line: number;
}

export interface ReadResult {
  readonly lines: readonly FileLine[];
  /** False when the asked section/object/id was not found (INI only warns, as uWSGI). */
  readonly found: boolean;
}
