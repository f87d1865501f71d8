import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { currentGitBranch, dataBranchForGit } from './git-branch.js';

describe('currentGitBranch', () => {
  const dirs: string[] = [];
  const repo = (head: string) => {
    const root = mkdtempSync(join(tmpdir(), 'rat-git-'));
    dirs.push(root);
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, '.git', 'HEAD'), head);
    return root;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reads the checked-out branch from a nested folder of the repository', () => {
    const root = repo('ref: refs/heads/feature/new-model\n');
    mkdirSync(join(root, 'a', 'b'), { recursive: true });
    expect(currentGitBranch(join(root, 'a', 'b'))).toBe('feature/new-model');
  });

  it('is undefined on a detached HEAD and outside any repository', () => {
    expect(currentGitBranch(repo('3f2c0b8e9d1a7c6b5a4f3e2d1c0b9a8f7e6d5c4b\n'))).toBeUndefined();
    const plain = mkdtempSync(join(tmpdir(), 'rat-nogit-'));
    dirs.push(plain);
    // tmpdir itself is not inside a repository on a normal machine
    expect(currentGitBranch(plain)).toBeUndefined();
  });

  it('follows a .git file to a worktree git dir', () => {
    const main = repo('ref: refs/heads/main\n');
    const worktreeGitDir = join(main, '.git', 'worktrees', 'wt');
    mkdirSync(worktreeGitDir, { recursive: true });
    writeFileSync(join(worktreeGitDir, 'HEAD'), 'ref: refs/heads/dev\n');
    const worktree = mkdtempSync(join(tmpdir(), 'rat-wt-'));
    dirs.push(worktree);
    writeFileSync(join(worktree, '.git'), `gitdir: ${worktreeGitDir}\n`);
    expect(currentGitBranch(worktree)).toBe('dev');
  });

  it('maps git master and main to the main data branch', () => {
    expect(dataBranchForGit('master')).toBe('main');
    expect(dataBranchForGit('main')).toBe('main');
    expect(dataBranchForGit('dev')).toBe('dev');
  });
});
