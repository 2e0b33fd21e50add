import { describe, expect, it } from 'vitest';
import { webhookPusher } from './webhook-pusher.js';

describe('webhookPusher', () => {
  it('names the pusher each forge reports', () => {
    expect(webhookPusher('github', { pusher: { name: 'octocat', email: 'o@x' } })).toBe(
      'github:octocat',
    );
    expect(webhookPusher('gitea', { pusher: { login: 'gitte', username: 'g2' } })).toBe(
      'gitea:gitte',
    );
    expect(webhookPusher('gitlab', { user_username: 'lab', user_name: 'Lab User' })).toBe(
      'gitlab:lab',
    );
    expect(webhookPusher('github', { sender: { login: 'bot' } })).toBe('github:bot');
  });

  it('says unknown without a usable name, and keeps a name to one bounded line', () => {
    expect(webhookPusher('github', {})).toBe('github:unknown');
    expect(webhookPusher('gitlab', undefined)).toBe('gitlab:unknown');
    expect(webhookPusher('github', { pusher: { name: '  ' } })).toBe('github:unknown');
    expect(webhookPusher('github', { pusher: { name: 'a\nb\u0007c' } })).toBe('github:a_b_c');
    expect(webhookPusher('gitea', { pusher: { login: 'x'.repeat(500) } })).toHaveLength(106);
  });
});
