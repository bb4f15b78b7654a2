import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { expect } from 'vitest';
import type { TestApp } from './app.ts';

/** Checks real answers against the OpenAPI document the app serves. */

export interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; parameters?: unknown[] }>>;
}

export interface Conformance {
  doc: OpenApiDoc;
  /** Validate a real answer against the schema the document gives for (path, method, status). */
  conforms(docPath: string, method: string, res: Response): Promise<void>;
  /** The validator of the schema at a JSON pointer into the document, e.g. ('components', 'schemas', 'X'). */
  validator(...path: string[]): ValidateFunction;
}

const DOC_ID = 'https://snapboard.test/openapi.json';
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export async function loadOpenApi(t: TestApp): Promise<Conformance> {
  const res = await t.app.request('/api/openapi.json');
  expect(res.status).toBe(200);
  const doc = (await res.json()) as OpenApiDoc;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
  ajv.addSchema({ ...doc, $id: DOC_ID });
  const validator = (...path: string[]): ValidateFunction => {
    const ref = `${DOC_ID}#/${pointer(...path)}`;
    return ajv.getSchema(ref) ?? ajv.compile({ $ref: ref });
  };
  return {
    doc,
    validator,
    async conforms(docPath, method, answer) {
      const operation = doc.paths[docPath]?.[method];
      expect(operation, `${method} ${docPath} documented`).toBeDefined();
      const status = String(answer.status);
      expect(Object.keys(operation?.responses ?? {}), `${method} ${docPath} documents ${status}`).toContain(status);
      if (answer.status === 304 || answer.status === 303) return;
      const validate = validator(
        'paths',
        docPath,
        method,
        'responses',
        status,
        'content',
        'application/json',
        'schema',
      );
      const body = await answer.json();
      const ok = validate(body);
      expect(validate.errors ?? [], `${method} ${docPath} ${status}: ${JSON.stringify(body).slice(0, 200)}`).toEqual(
        [],
      );
      expect(ok).toBe(true);
    },
  };
}
