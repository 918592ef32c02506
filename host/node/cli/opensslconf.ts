// OpenSSL configuration files (config(5)) as `openssl cmp -config FILE -section S` reads them:
// `[section]` headers, `name = value` lines, `#` comments, `\` line continuation, quoting with
// "..." or '...', backslash escapes, `$var`, `${var}`, `$(var)`, `${section::var}` expansion and
// `.include FILE` (relative to the including file). Names before any section header belong to the
// unnamed default section, as OpenSSL's "default".
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export type Conf = Map<string, Map<string, string>>;

const DEFAULT = "default";

export function readConf(file: string, conf: Conf = new Map(), depth = 0): Conf {
  if (depth > 8) throw new Error(`${file}: .include nested too deep`);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`-config ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const lines = text.replace(/\\\r?\n/g, "").split(/\r?\n/);
  let section = DEFAULT;
  lines.forEach((raw, i) => {
    const where = `${file} line ${i + 1}`;
    const line = stripComment(raw).trim();
    if (line === "") return;
    const head = /^\[\s*([^\]\s]+)\s*\]$/.exec(line);
    if (head) {
      section = head[1];
      return;
    }
    const inc = /^\.include\s*=?\s*(.+)$/.exec(line);
    if (inc) {
      readConf(resolve(dirname(file), inc[1].trim()), conf, depth + 1);
      return;
    }
    if (/^\.pragma\b/.test(line)) return;
    const m = /^([A-Za-z0-9_.;:!%@-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${where}: not "name = value": ${line}`);
    if (!conf.has(section)) conf.set(section, new Map());
    conf.get(section)!.set(m[1], expand(unquote(m[2]), section, conf, where));
  });
  return conf;
}

function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (quote) {
      if (c === quote) quote = "";
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === "#") return line.slice(0, i);
  }
  return line;
}

function unquote(v: string): string {
  let out = "";
  let quote = "";
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === "\\" && i + 1 < v.length && quote !== "'") {
      const n = v[++i];
      out += n === "n" ? "\n" : n === "r" ? "\r" : n === "t" ? "\t" : n === "b" ? "\b" : n;
    } else if (quote) {
      if (c === quote) quote = "";
      else out += c;
    } else if (c === '"' || c === "'") quote = c;
    else out += c;
  }
  return out.trim();
}

function expand(v: string, section: string, conf: Conf, where: string): string {
  return v.replace(/\$(?:\{([^}]*)\}|\(([^)]*)\)|([A-Za-z0-9_]+))/g, (_, a, b, c) => {
    const ref: string = a ?? b ?? c;
    const [s, n] = ref.includes("::") ? ref.split("::") : [section, ref];
    const value = conf.get(s)?.get(n) ?? (s === "ENV" ? process.env[n] : undefined) ?? conf.get(DEFAULT)?.get(n);
    if (value === undefined) throw new Error(`${where}: variable ${ref} has no value`);
    return value;
  });
}

/** The options of the given sections (comma- or space-separated; later ones override earlier
 *  ones), falling back per option to the default section, as `openssl cmp -section` does.
 *  `known` filters the default section, which also holds settings of other tools; an unknown
 *  name in a named section is an error (a typo would otherwise go unnoticed). */
export function confOptions(conf: Conf, sections: string, known: (name: string) => boolean): Map<string, string> {
  const out = new Map([...(conf.get(DEFAULT) ?? [])].filter(([k]) => known(k)));
  for (const s of sections.split(/[\s,]+/).filter(Boolean)) {
    const sec = conf.get(s);
    if (!sec) throw new Error(`-section ${s}: no such section in the -config file`);
    for (const [k, v] of sec) {
      if (!known(k)) throw new Error(`-config: unknown option ${k} in section [${s}]`);
      out.set(k, v);
    }
  }
  return out;
}
