import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * The git branch checked out in the repository that contains `cwd`, read from `.git/HEAD` (no git
 * binary needed; worktrees and submodules, where `.git` is a file pointing elsewhere, included).
 * Undefined outside a repository or on a detached HEAD.
 */
export function currentGitBranch(cwd: string): string | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const dotGit = join(dir, '.git');
    if (existsSync(dotGit)) return branchFromHead(gitDirOf(dotGit));
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function gitDirOf(dotGit: string): string {
  if (statSync(dotGit).isDirectory()) return dotGit;
  const match = /^gitdir:\s*(.+)\s*$/m.exec(readFileSync(dotGit, 'utf8'));
  if (!match) return dotGit;
  return isAbsolute(match[1]!) ? match[1]! : resolve(dirname(dotGit), match[1]!);
}

function branchFromHead(gitDir: string): string | undefined {
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    const match = /^ref:\s*refs\/heads\/(.+)$/.exec(head);
    return match?.[1];
  } catch {
    return undefined;
  }
}

/** The data branch for a git branch: git's main and master are the catalog's main; others keep their name. */
export function dataBranchForGit(gitBranch: string): string {
  return gitBranch === 'master' ? 'main' : gitBranch;
}
