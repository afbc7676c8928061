// Syntax colouring for the source view: a small scanner per language family that
// knows comments, strings, numbers, keywords and type-like names. It only colours;
// the graph's own spans say where definitions are.

const KEYWORDS = {
  rust: 'as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while',
  python: 'and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return True try while with yield match case',
  javascript: 'async await break case catch class const continue debugger default delete do else export extends false finally for from function get if import in instanceof let new null of return set static super switch this throw true try typeof undefined var void while with yield',
  typescript: 'abstract any as async await boolean break case catch class const constructor continue declare default delete do else enum export extends false finally for from function get if implements import in infer instanceof interface is keyof let module namespace never new null number object of private protected public readonly return satisfies set static string super switch symbol this throw true try type typeof undefined unknown var void while with yield',
  go: 'break case chan const continue default defer else fallthrough false for func go goto if import interface iota map nil package range return select struct switch true type var',
  java: 'abstract assert boolean break byte case catch char class const continue default do double else enum extends false final finally float for if implements import instanceof int interface long native new null package private protected public record return short static super switch synchronized this throw throws transient true try var void volatile while yield',
  cpp: 'alignas auto bool break case catch char class const constexpr continue decltype default delete do double else enum explicit extern false float for friend if inline int long mutable namespace new noexcept nullptr operator override private protected public return short signed sizeof static struct switch template this throw true try typedef typename union unsigned using virtual void volatile while',
};
KEYWORDS.tsx = KEYWORDS.typescript;
const SETS = Object.fromEntries(
  Object.entries(KEYWORDS).map(([lang, words]) => [lang, new Set(words.split(' '))]));

const HASH_COMMENTS = new Set(['python']);
const BACKTICK_STRINGS = new Set(['javascript', 'typescript', 'tsx', 'go']);

/**
 * Splits `text` into lines of `[class, text]` tokens; class is '' for plain text, or
 * one of kw, str, com, num, type, fn.
 */
export function highlight(text, language) {
  const keywords = SETS[language] || new Set();
  const tokens = [];
  const push = (cls, s) => {
    if (s) tokens.push([cls, s]);
  };
  let i = 0;
  const n = text.length;
  let plain = '';
  const flush = () => {
    push('', plain);
    plain = '';
  };
  while (i < n) {
    const c = text[i];
    const next = text[i + 1];
    // Comments.
    if ((c === '/' && next === '/' && !HASH_COMMENTS.has(language)) ||
        (c === '#' && HASH_COMMENTS.has(language))) {
      let end = text.indexOf('\n', i);
      if (end < 0) end = n;
      flush();
      push('com', text.slice(i, end));
      i = end;
      continue;
    }
    if (c === '/' && next === '*' && !HASH_COMMENTS.has(language)) {
      let end = text.indexOf('*/', i + 2);
      end = end < 0 ? n : end + 2;
      flush();
      push('com', text.slice(i, end));
      i = end;
      continue;
    }
    // Strings.
    if (c === '"' || (c === '\'' && language !== 'rust') || (c === '`' && BACKTICK_STRINGS.has(language))) {
      const triple = language === 'python' && text.startsWith(c.repeat(3), i);
      const close = triple ? c.repeat(3) : c;
      let j = i + close.length;
      while (j < n) {
        if (text[j] === '\\' && c !== '`') {
          j += 2;
          continue;
        }
        if (text.startsWith(close, j)) {
          j += close.length;
          break;
        }
        if (!triple && c !== '`' && text[j] === '\n') break;
        j++;
      }
      flush();
      push('str', text.slice(i, Math.min(j, n)));
      i = Math.min(j, n);
      continue;
    }
    if (c === '\'' && language === 'rust') {
      // A char literal closes within a few characters; otherwise a lifetime.
      const m = /^'(\\.|[^\\'\n]{1,2})'/.exec(text.slice(i, i + 12));
      flush();
      if (m) {
        push('str', m[0]);
        i += m[0].length;
      } else {
        const l = /^'[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i, i + 64));
        const s = l ? l[0] : c;
        push('type', s);
        i += s.length;
      }
      continue;
    }
    // Numbers.
    if (/[0-9]/.test(c) && !/[A-Za-z0-9_]/.test(text[i - 1] || '')) {
      const m = /^(0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]+)?([eE][+-]?[0-9]+)?)[a-zA-Z0-9_]*/.exec(text.slice(i, i + 64));
      flush();
      push('num', m[0]);
      i += m[0].length;
      continue;
    }
    // Words.
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(text.slice(i, i + 256));
      const word = m[0];
      let cls = '';
      if (keywords.has(word)) cls = 'kw';
      else if (/^[A-Z][a-z0-9]/.test(word) || (language === 'rust' && /^[A-Z]/.test(word))) cls = 'type';
      else if (text[i + word.length] === '(') cls = 'fn';
      if (cls) {
        flush();
        push(cls, word);
      } else {
        plain += word;
      }
      i += word.length;
      continue;
    }
    plain += c;
    i++;
  }
  flush();
  // Tokens into lines.
  const lines = [[]];
  for (const [cls, s] of tokens) {
    const parts = s.split('\n');
    parts.forEach((part, k) => {
      if (k > 0) lines.push([]);
      if (part) lines[lines.length - 1].push([cls, part]);
    });
  }
  return lines;
}

/** One line's tokens as DOM nodes appended to `parent`. */
export function renderTokens(parent, tokens) {
  for (const [cls, s] of tokens) {
    if (cls) {
      const span = document.createElement('span');
      span.className = 'tok-' + cls;
      span.textContent = s;
      parent.append(span);
    } else {
      parent.append(document.createTextNode(s));
    }
  }
}
