import { Type } from '@sinclair/typebox';
import type { Profile } from '#protocol';
import type { OwnerFiles } from './owner-files.js';

const ProfileFile = Type.Object({
  gitName: Type.Union([Type.String(), Type.Null()]),
  gitEmail: Type.Union([Type.String(), Type.Null()]),
});
const FILE = 'profile';

/** Each owner's settings (`profile.json`): the git identity their environments commit with. */
export class ProfileStore {
  constructor(private readonly files: OwnerFiles) {}

  get(uid: number): Promise<Profile> {
    return this.files.read(uid, FILE, ProfileFile, { gitName: null, gitEmail: null });
  }

  put(uid: number, profile: Profile): Promise<Profile> {
    return this.files.exclusive(uid, async () => {
      const saved = { gitName: profile.gitName, gitEmail: profile.gitEmail };
      await this.files.write(uid, FILE, saved);
      return saved;
    });
  }
}
