// Parses autoinstallscript.conf XML into a Layout, reporting every problem at once with the element and attribute.

import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { LayoutError, type Problem } from '../errors.js';
import { parseFsinfo, parseLvmGroup, parseRaid, type Attrs, type Emit } from './layout-xml-elements.js';
import { checkPartitionTable, parsePart } from './layout-xml-parts.js';
import { isKnownUnit, parseMiB } from './layout-size.js';
import { layoutSource, type Layout, type LayoutDisk, type LabelType } from './layout-types.js';

type XmlNode = Record<string, unknown>;

/** Parses layout XML text; `source` names the file in problems. Throws LayoutError listing every problem. */
export function parseLayoutXml(text: string, source: string): Layout {
  const problems: Problem[] = [];
  const emit: Emit = (key, message) => problems.push({ source: layoutSource(source), key, message });
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    emit(`line ${valid.err.line}`, `not well-formed XML: ${valid.err.msg}`);
    throw new LayoutError(problems);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseAttributeValue: false,
    parseTagValue: false,
    allowBooleanAttributes: true,
    isArray: (_name, _jpath, _leaf, isAttribute) => !isAttribute,
  });
  const doc = parser.parse(text) as XmlNode;
  const root = findRoot(doc);
  const diskEls = children(root, 'disk');
  const layout: Layout = { source, disks: [], raids: [], lvmVersion: null, vgs: [], fsinfo: [], devstyle: null };
  diskEls.forEach((el, i) => {
    const disk = parseDisk(el, i, diskEls.length > 1, emit);
    if (disk) layout.disks.push(disk);
  });
  children(root, 'raid').forEach((el, i) => {
    const r = parseRaid(attrsOf(el), i, emit);
    if (r) layout.raids.push(r);
  });
  for (const lvm of children(root, 'lvm')) {
    layout.lvmVersion = attrsOf(lvm)['version'] ?? layout.lvmVersion;
    children(lvm, 'lvm_group').forEach((g, i) => {
      const lvs = children(g, 'lv').map(attrsOf);
      const vg = parseLvmGroup(attrsOf(g), lvs, i, emit);
      if (vg) layout.vgs.push(vg);
    });
  }
  children(root, 'fsinfo').forEach((el, i) => {
    const f = parseFsinfo(attrsOf(el), i, emit);
    if (f) layout.fsinfo.push(f);
  });
  for (const b of children(root, 'boel')) layout.devstyle = attrsOf(b)['devstyle'] ?? layout.devstyle;
  checkUnique(layout, emit);
  if (problems.length > 0) throw new LayoutError(problems);
  layout.fsinfo.sort((a, b) => a.line - b.line);
  return layout;
}

function parseDisk(el: XmlNode, index: number, multi: boolean, emit: Emit): LayoutDisk | null {
  const a = attrsOf(el);
  const dev = a['dev']?.trim() ?? '';
  const at = dev ? `<disk dev=${dev}>` : `<disk #${index + 1}>`;
  let ok = true;
  if (!dev) {
    emit(`${at} dev`, 'missing');
    ok = false;
  } else if (!dev.startsWith('/dev/')) {
    emit(`${at} dev`, `"${dev}" is not a device path`);
    ok = false;
  }
  const lt = (a['label_type'] ?? '').trim().toLowerCase();
  const labelType: LabelType | null = lt === 'msdos' || lt === 'dos' ? 'msdos' : lt === 'gpt' ? 'gpt' : null;
  if (!labelType) {
    emit(`${at} label_type`, lt ? `"${a['label_type']}" is not msdos or gpt` : 'missing');
    ok = false;
  }
  const unit = (a['unit_of_measurement'] ?? 'MB').trim();
  if (!isKnownUnit(unit)) {
    emit(`${at} unit_of_measurement`, `"${unit}" is not a unit (MB, GB, TB, %, ...)`);
    ok = false;
  }
  let sizeMinMiB: number | null = null;
  if (a['size_min'] !== undefined) {
    const s = parseMiB(a['size_min']);
    if (typeof s === 'string') {
      emit(`${at} size_min`, s);
      ok = false;
    } else sizeMinMiB = s;
  }
  const prefix = multi ? `${at} ` : '';
  const parts = children(el, 'part').map((p, i) => parsePart(attrsOf(p), i, prefix, labelType ?? 'gpt', isKnownUnit(unit) ? unit : 'MB', emit));
  if (parts.some((p) => p === null) || !ok || !labelType) return null;
  const disk: LayoutDisk = {
    at, dev, labelType, unit, parts: parts as NonNullable<(typeof parts)[number]>[],
    serial: a['serial']?.trim() || null, wwn: a['wwn']?.trim() || null, sizeMinMiB,
  };
  checkPartitionTable(disk, emit);
  return disk;
}

function checkUnique(layout: Layout, emit: Emit): void {
  const seen = new Set<string>();
  for (const d of layout.disks) {
    if (seen.has(d.dev)) emit(`${d.at} dev`, `disk ${d.dev} appears twice`);
    seen.add(d.dev);
  }
  const lines = new Set<number>();
  for (const f of layout.fsinfo) {
    if (lines.has(f.line)) emit(`${f.at} line`, `line ${f.line} appears twice`);
    lines.add(f.line);
  }
  const vgs = new Set<string>();
  for (const v of layout.vgs) {
    if (vgs.has(v.name)) emit(`${v.at} name`, `volume group ${v.name} appears twice`);
    vgs.add(v.name);
  }
}

function findRoot(doc: XmlNode): XmlNode {
  for (const k of Object.keys(doc)) {
    if (k.startsWith('?') || k.startsWith('@_')) continue;
    const v = doc[k];
    if (['disk', 'raid', 'lvm', 'fsinfo', 'boel'].includes(k)) return doc;
    if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object') return v[0] as XmlNode;
  }
  return doc;
}

function children(node: XmlNode, name: string): XmlNode[] {
  const v = node[name];
  if (!Array.isArray(v)) return [];
  return v.map((x) => (typeof x === 'object' && x !== null ? (x as XmlNode) : {}));
}

function attrsOf(node: XmlNode): Attrs {
  const out: Attrs = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('@_')) out[k.slice(2).toLowerCase()] = v === true ? '' : String(v);
  }
  return out;
}
