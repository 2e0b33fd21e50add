import { describe, expect, it } from 'vitest';
import { shownUrl, splitCredentials } from './source-url.js';

describe('splitCredentials', () => {
  it('takes user info out of a URL, decoded', () => {
    expect(splitCredentials('https://bot:p%40ss%3Aword@git.example.com/acme/policies.git')).toEqual(
      {
        url: 'https://git.example.com/acme/policies.git',
        credentials: { username: 'bot', password: 'p@ss:word' },
      },
    );
    expect(splitCredentials('https://ghp_token@github.com/acme/p.git')).toEqual({
      url: 'https://github.com/acme/p.git',
      credentials: { username: 'ghp_token', password: '' },
    });
  });

  it('leaves a URL without user info alone', () => {
    expect(splitCredentials('https://git.example.com/a@b/p.git')).toEqual({
      url: 'https://git.example.com/a@b/p.git',
    });
    expect(shownUrl(null)).toBeNull();
    expect(shownUrl('http://u:secret@h/r.git')).toBe('http://h/r.git');
  });
});
