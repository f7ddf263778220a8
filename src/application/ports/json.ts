export type { JsonValue } from '#app/domain/json.ts';
