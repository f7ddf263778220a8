import { describe, expect, it } from 'vitest';
import { pageLang, prefersJson } from './negotiation.ts';

describe('prefersJson', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['*/*', false],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false],
    ['application/json', true],
    ['application/json, text/plain, */*', true],
    ['application/*', true],
    ['text/html;q=0.5, application/json', true],
    ['application/json;q=0.5, text/html', false],
    ['application/json, text/html', true],
    ['text/html, application/json', false],
    ['application/json;q=0', false],
    ['image/png', false],
  ])('Accept %j -> %s', (accept, json) => {
    expect(prefersJson(accept)).toBe(json);
  });
});

describe('pageLang', () => {
  it.each([
    [undefined, undefined, 'fr'],
    [undefined, '*', 'fr'],
    [undefined, 'de-DE,de;q=0.9', 'fr'],
    [undefined, 'en-US,en;q=0.9,fr;q=0.8', 'en'],
    [undefined, 'fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7', 'fr'],
    [undefined, 'de, en;q=0.5', 'en'],
    [undefined, 'en, fr', 'en'],
    [undefined, 'fr, en', 'fr'],
    [undefined, 'en;q=0, *', 'fr'],
    [undefined, 'EN-gb', 'en'],
    ['en', 'fr', 'en'],
    ['fr', 'en', 'fr'],
    ['de', 'en', 'en'],
    [['en', 'fr'], undefined, 'fr'],
  ])('?lang=%j, Accept-Language %j -> %s', (query, header, lang) => {
    expect(pageLang(query, header)).toBe(lang);
  });
});
