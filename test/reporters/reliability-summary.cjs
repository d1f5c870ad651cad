/**
 * A Jest reporter: after the run, one summary line per attack class of the reliability suite (a fake peer
 * that misbehaves, hostile inputs, SIGKILL and crashes, floods), counting the tests that belong to it.
 *
 * A test belongs to a class when `<file path relative to the repo> › <describe titles> › <test title>` matches
 * one of the class's patterns (regular expressions, in jest.config.js). In CI (CI=true), on a whole run (no
 * path, name or project filter), a class with no test at all fails the run: a suite renamed away from its
 * pattern must not drop out of the summary unnoticed.
 */
'use strict';

const path = require('node:path');

class ReliabilitySummary {
  constructor(globalConfig, options = {}) {
    this._globalConfig = globalConfig;
    this._classes = Object.entries(options.classes || {}).map(([name, patterns]) => ({
      name,
      patterns: patterns.map((p) => new RegExp(p)),
      passed: 0,
      failed: 0,
      skipped: 0,
      files: new Set(),
    }));
    this._root = globalConfig.rootDir;
    this._error = undefined;
  }

  onTestResult(_test, result) {
    const file = path.relative(this._root, result.testFilePath);
    for (const t of result.testResults) {
      const full = [file, ...t.ancestorTitles, t.title].join(' › ');
      for (const c of this._classes) {
        if (!c.patterns.some((re) => re.test(full))) continue;
        if (t.status === 'passed') c.passed++;
        else if (t.status === 'failed') c.failed++;
        else c.skipped++;
        c.files.add(file);
      }
    }
  }

  onRunComplete() {
    const g = this._globalConfig;
    const filtered = Boolean(g.testPathPattern) || Boolean(g.testNamePattern) || (g.selectProjects && g.selectProjects.length > 0) || g.onlyChanged || g.findRelatedTests;
    const ci = process.env.CI === 'true' || process.env.CI === '1';
    const width = Math.max(...this._classes.map((c) => c.name.length));
    const lines = ['', 'Reliability suite, by attack class:'];
    const missing = [];
    for (const c of this._classes) {
      const total = c.passed + c.failed;
      let verdict;
      if (c.failed > 0) verdict = 'FAILED';
      else if (total === 0) {
        verdict = 'not run';
        missing.push(c.name);
      } else verdict = 'ok';
      const skipped = c.skipped ? `, ${c.skipped} skipped` : '';
      const files = c.files.size === 1 ? '1 file' : `${c.files.size} files`;
      lines.push(`  reliability: ${c.name.padEnd(width)}  ${verdict.padEnd(7)}  ${c.passed} passed, ${c.failed} failed${skipped} (${files})`);
    }
    process.stderr.write(`${lines.join('\n')}\n`);
    if (ci && !filtered && missing.length) {
      this._error = new Error(`reliability suite: no test ran for ${missing.join(', ')}; check the patterns in jest.config.js`);
    }
  }

  getLastError() {
    return this._error;
  }
}

module.exports = ReliabilitySummary;
