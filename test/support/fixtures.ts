import { readFileSync } from 'node:fs';

const dir = new URL('../fixtures/registries/', import.meta.url);

/** A recorded registry payload by file name, without the `_comment` key the synthetic samples carry. */
export const recorded = (file: string): unknown => {
  const parsed = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as unknown;
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) && '_comment' in parsed) {
    return Object.fromEntries(Object.entries(parsed).filter(([key]) => key !== '_comment'));
  }
  return parsed;
};
