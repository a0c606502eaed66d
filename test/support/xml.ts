/**
 * A tiny strict XML reader for the Open311 tests: elements, text and the five predefined
 * entities (and numeric references), which is all the GeoReport v2 bodies use. Written here
 * rather than adding a parser to the dependencies (node_modules is shared by every worktree);
 * it throws on anything it does not understand, so a malformed body fails the test.
 */

/** An element: its name, child elements in order, and its text (children's text excluded). */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    const value = ENTITIES[entity];
    if (value === undefined) throw new Error(`Unknown entity ${whole}`);
    return value;
  });
}

/** Parses a document (with its `<?xml ...?>` declaration) into its root element. */
export function parseXml(document: string): XmlElement {
  const declaration = /^<\?xml version="1\.0" encoding="utf-8"\?>\s*/i.exec(document);
  if (!declaration) throw new Error('No XML declaration with encoding utf-8');
  let at = declaration[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (at < document.length) {
    const lt = document.indexOf('<', at);
    const text = document.slice(at, lt === -1 ? document.length : lt);
    if (text.includes('&') || text.trim()) {
      const top = stack.at(-1);
      if (!top) throw new Error(`Text outside the root: ${text}`);
      if (/[<>]/.test(text) || /&(?!(#x[0-9a-fA-F]+|#\d+|[a-z]+);)/.test(text)) throw new Error(`Bad text: ${text}`);
      top.text += decode(text);
    }
    if (lt === -1) break;
    const gt = document.indexOf('>', lt);
    if (gt === -1) throw new Error('Unclosed tag');
    const tag = document.slice(lt + 1, gt);
    at = gt + 1;
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (!open || open.name !== tag.slice(1)) throw new Error(`Mismatched </${tag.slice(1)}>`);
      if (stack.length === 0) root = open;
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const name = (selfClosing ? tag.slice(0, -1) : tag).trim();
    if (!/^[A-Za-z_][\w.-]*$/.test(name)) throw new Error(`Bad element name ${name}`);
    const element: XmlElement = { name, children: [], text: '' };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else if (root || stack.length > 0) throw new Error('Two roots');
    if (selfClosing) {
      if (!parent) root = element;
    } else stack.push(element);
  }
  if (stack.length > 0 || !root) throw new Error('Unclosed elements');
  return root;
}

/** An element's children as a plain object of their texts (for flat items such as a request). */
export function fieldsOf(element: XmlElement): Record<string, string> {
  return Object.fromEntries(element.children.map((child) => [child.name, child.text]));
}

/** The first child of that name; throws when there is none. */
export function child(element: XmlElement, name: string): XmlElement {
  const found = element.children.find((c) => c.name === name);
  if (!found) throw new Error(`No <${name}> in <${element.name}>`);
  return found;
}
