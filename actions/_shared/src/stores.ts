/** The stores an action reaches: GitHub releases through @actions/github's Octokit, OCI registries with the Docker config. */
import type { StorageOptions } from '@scitt-actions/core/storage';
import { InputError, optionalInput, secretInput } from './kit.ts';

export async function storageOptions(): Promise<StorageOptions> {
  const token = secretInput('github-token');
  if (!token) return {};
  // loaded only with a token: Octokit and its HTTP client (undici) are most of what the action would load
  const github = await import('@actions/github');
  const { owner, repo } = github.context.repo;
  return { github: { owner, repo, octokit: github.getOctokit(token) as never } };
}

/** target=release needs the tag and a token; target=oci needs the image. */
export function targetSpec(target: string): string {
  if (target === 'release') {
    const tag = optionalInput('release-tag');
    if (!tag) throw new InputError('target: release needs release-tag (e.g. ${{ github.ref_name }})');
    if (!optionalInput('github-token')) throw new InputError('target: release needs github-token with contents: write');
    return `release:${tag}`;
  }
  if (target === 'oci') {
    const image = optionalInput('image') ?? optionalInput('subject-image');
    if (!image) throw new InputError('target: oci needs image or subject-image (registry/repository@sha256:…)');
    return image.startsWith('oci://') ? image : `oci://${image}`;
  }
  throw new InputError(`target must be files, release or oci, got "${target}"`);
}
