/** How the CLI reaches stores: GitHub from GITHUB_REPOSITORY / GITHUB_TOKEN / GITHUB_API_URL (as in a workflow), OCI from the Docker config. */
import type { Command } from 'commander';
import type { StorageOptions } from '@scitt-actions/core/storage';
import { UsageError } from './run.ts';

export interface StorageFlags {
  githubRepo?: string;
  plainHttp?: boolean;
}

export function addStorageOptions(cmd: Command): Command {
  return cmd
    .option('--github-repo <OWNER/REPO>', 'for release: targets (default: $GITHUB_REPOSITORY; token from $GITHUB_TOKEN)')
    .option('--plain-http', 'for oci:// targets: talk HTTP, not HTTPS, to the registry (default only for loopback)');
}

export function storageOptions(f: StorageFlags): StorageOptions {
  const repo = f.githubRepo ?? process.env.GITHUB_REPOSITORY;
  let github: StorageOptions['github'];
  if (repo) {
    const [owner, name, extra] = repo.split('/');
    if (!owner || !name || extra !== undefined) throw new UsageError(`--github-repo must be OWNER/REPO, got "${repo}"`);
    github = { owner, repo: name, ...(process.env.GITHUB_TOKEN ? { token: process.env.GITHUB_TOKEN } : {}), ...(process.env.GITHUB_API_URL ? { baseUrl: process.env.GITHUB_API_URL } : {}) };
  }
  return { ...(github ? { github } : {}), ...(f.plainHttp ? { oci: { plainHttp: true } } : {}) };
}
