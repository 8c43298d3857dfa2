// The shape of one parameter in the table (SPEC 2): its kind, aliases, default and doc; names.ts and net-names.ts fill it.

/** The kinds the data-centre network parameters add (agent/params/net-values.ts checks them). */
export type NetKind = 'mtu' | 'vlanid' | 'ifname' | 'link' | 'links' | 'bondopts' | 'ifnames' | 'dnslist';

export type ParamKind = 'string' | 'bool' | 'port' | 'ip' | 'host' | 'uint' | 'enum' | 'diskorder' | 'url' | 'proxy' | 'edkey' | 'pemfile' | 'ip6' | 'ip6prefix' | NetKind;

export interface ParamSpec {
  name: string; // canonical SystemImager 4.3 name
  kind: ParamKind;
  aliases: readonly string[]; // 4.9 `si.*` names and 4.3 script names
  default?: string; // value used when no source sets it
  values?: readonly string[]; // enum: accepted values (lower case)
  synonyms?: Readonly<Record<string, string>>; // enum: accepted spelling -> canonical value
  emptyMeans?: string; // value meant when the parameter is set but empty
  doc: string;
}
