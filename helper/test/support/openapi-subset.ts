/**
 * Checks that one OpenAPI 3.0 document describes a subset of another: the project's description of
 * Cloud Hypervisor's API against CH's official document. "Subset" means nothing is said that the
 * official document does not say: each path and method exists there with the statuses and bodies
 * declared, each schema and property exists there with the same type, format, reference and
 * bounds, each enum value is an official one, and each schema requires exactly what CH requires.
 */

export interface SchemaObject {
  type?: string;
  format?: string;
  enum?: string[];
  $ref?: string;
  items?: SchemaObject;
  properties?: Record<string, SchemaObject>;
  additionalProperties?: SchemaObject | boolean;
  required?: string[];
  minimum?: number;
  default?: unknown;
  description?: string;
}

interface MediaTypes {
  content?: Record<string, { schema?: SchemaObject }>;
}

export interface OperationObject {
  requestBody?: MediaTypes & { required?: boolean };
  responses: Record<string, MediaTypes & { description?: string }>;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, SchemaObject> };
}

const bodyRef = (media: MediaTypes | undefined) => media?.content?.['application/json']?.schema?.$ref;

/** Every way `ours` says more than, or differently from, `official`; empty when it is a subset. */
export function compareWithOfficial(ours: OpenApiDocument, official: OpenApiDocument): string[] {
  const problems: string[] = [];
  for (const [path, methods] of Object.entries(ours.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const where = `${method.toUpperCase()} ${path}`;
      const theirs = official.paths[path]?.[method];
      if (theirs === undefined) {
        problems.push(`${where}: not in the official document`);
        continue;
      }
      if (bodyRef(op.requestBody) !== bodyRef(theirs.requestBody))
        problems.push(`${where}: request body ${bodyRef(op.requestBody)}, officially ${bodyRef(theirs.requestBody)}`);
      if ((op.requestBody?.required ?? false) !== (theirs.requestBody?.required ?? false))
        problems.push(`${where}: request body required differs from the official document`);
      for (const [status, response] of Object.entries(op.responses)) {
        const official = theirs.responses[status];
        if (official === undefined) problems.push(`${where}: status ${status} not in the official document`);
        else if (bodyRef(response) !== bodyRef(official))
          problems.push(`${where}: status ${status} body ${bodyRef(response)}, officially ${bodyRef(official)}`);
      }
    }
  }
  for (const [name, schema] of Object.entries(ours.components.schemas)) {
    const theirs = official.components.schemas[name];
    if (theirs === undefined) problems.push(`schema ${name}: not in the official document`);
    else compareSchema(name, schema, theirs, problems);
  }
  return problems;
}

const show = (value: unknown): string => (value === undefined ? 'none' : JSON.stringify(value));

function compareSchema(where: string, ours: SchemaObject, theirs: SchemaObject, problems: string[]): void {
  for (const key of ['type', 'format', '$ref', 'minimum', 'default'] as const) {
    if (ours[key] === undefined && (key === 'minimum' || key === 'default')) continue;
    if (ours[key] !== theirs[key]) {
      problems.push(`${where}: ${key} ${show(ours[key])}, officially ${show(theirs[key])}`);
    }
  }
  for (const value of ours.enum ?? []) {
    if (!(theirs.enum ?? []).includes(value))
      problems.push(`${where}: enum value ${value} not in the official document`);
  }
  if (ours.items !== undefined) {
    if (theirs.items === undefined) problems.push(`${where}: items not in the official document`);
    else compareSchema(`${where}[]`, ours.items, theirs.items, problems);
  }
  for (const [name, property] of Object.entries(ours.properties ?? {})) {
    const official = theirs.properties?.[name];
    if (official === undefined) problems.push(`${where}.${name}: not in the official document`);
    else compareSchema(`${where}.${name}`, property, official, problems);
  }
  const required = [...(ours.required ?? [])].sort();
  const officiallyRequired = [...(theirs.required ?? [])].sort();
  if (required.join() !== officiallyRequired.join()) {
    problems.push(`${where}: required [${required.join(', ')}], officially [${officiallyRequired.join(', ')}]`);
  }
}
