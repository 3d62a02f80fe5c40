import { readFile } from 'node:fs/promises';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import writeFileAtomic from 'write-file-atomic';
import { EnvironmentClass, type ClassBody } from '#protocol';
import { isMissing } from '../system/host-root.js';
import { DomainError } from '../errors.js';

export const DEFAULT_CLASSES: EnvironmentClass[] = [
  { name: 'small', description: '2 vCPUs, 4 GB memory, 20 GB disk', cpus: 2, memoryMiB: 4096, diskGiB: 20 },
  { name: 'medium', description: '4 vCPUs, 8 GB memory, 40 GB disk', cpus: 4, memoryMiB: 8192, diskGiB: 40 },
  { name: 'large', description: '8 vCPUs, 16 GB memory, 80 GB disk', cpus: 8, memoryMiB: 16384, diskGiB: 80 },
];

const StoredClasses = Type.Array(EnvironmentClass);

/** Environment classes in `<state>/classes.json` (the defaults until someone edits one). */
/** Classes are a short menu, not storage: this many at most. */
export const MAX_CLASSES = 32;

export class ClassStore {
  private constructor(
    private readonly file: string,
    private classes: EnvironmentClass[],
  ) {}

  static async open(file: string): Promise<ClassStore> {
    try {
      const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
      if (Value.Check(StoredClasses, parsed)) return new ClassStore(file, parsed);
      throw new Error(`${file} is not a list of environment classes; fix or remove it`);
    } catch (error) {
      if (isMissing(error)) return new ClassStore(file, structuredClone(DEFAULT_CLASSES));
      throw error;
    }
  }

  list(): EnvironmentClass[] {
    return structuredClone(this.classes);
  }

  get(name: string): EnvironmentClass | undefined {
    const found = this.classes.find((c) => c.name === name);
    return found && structuredClone(found);
  }

  async put(name: string, body: ClassBody): Promise<EnvironmentClass> {
    if (!this.classes.some((c) => c.name === name) && this.classes.length >= MAX_CLASSES)
      throw new DomainError(
        'limit',
        `There are already ${this.classes.length} environment classes, the most hearthd keeps (${MAX_CLASSES})`,
        'edit or delete one instead',
      );
    const next: EnvironmentClass = {
      name,
      description: body.description ?? `${body.cpus} vCPUs, ${body.memoryMiB} MiB memory, ${body.diskGiB} GiB disk`,
      cpus: body.cpus,
      memoryMiB: body.memoryMiB,
      diskGiB: body.diskGiB,
    };
    const classes = [...this.classes.filter((c) => c.name !== name), next];
    await this.save(classes);
    return structuredClone(next);
  }

  async remove(name: string): Promise<void> {
    await this.save(this.classes.filter((c) => c.name !== name));
  }

  private async save(classes: EnvironmentClass[]): Promise<void> {
    await writeFileAtomic(this.file, `${JSON.stringify(classes, null, 2)}\n`, { mode: 0o644 });
    this.classes = classes;
  }
}
