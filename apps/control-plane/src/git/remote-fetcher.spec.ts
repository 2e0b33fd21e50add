import { describe, expect, it } from 'vitest';
import { redactUrl } from './remote-fetcher.js';

describe('redactUrl', () => {
  it('drops user info and keeps the rest', () => {
    expect(redactUrl('https://bot:t0ken@git.example.com/org/repo.git')).toBe(
      'https://git.example.com/org/repo.git',
    );
    expect(redactUrl('not a url //user:pw@host/x')).toBe('not a url //host/x');
  });
});
