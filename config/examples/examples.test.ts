import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfiles } from '../profiles.ts';

const folder = new URL('.', import.meta.url).pathname;
const files = readdirSync(folder).filter((name) => name.endsWith('.yaml'));

describe('the example profiles', () => {
  it.each(files)('%s is a valid profile file, marked as an example', (name) => {
    const env = { CHUTES_API_KEY: 'x', NINETEEN_API_KEY: 'x' };
    const profiles = loadProfiles(join(folder, name), env);
    expect(profiles.length).toBeGreaterThan(0);
    for (const profile of profiles) expect(profile.description).toMatch(/\(example\)$/);
  });
});
