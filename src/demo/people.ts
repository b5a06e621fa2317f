/**
 * The people of the demo organisation. Handles are `first.last`; emails add `@example.com`. Every name is
 * fictional. Developers use Claude Code through the `ClaudeCodeDevelopers` role with their email as the role
 * session name; the config maps them to teams by that session name.
 */
import { EMAIL_DOMAIN, type RegionName, type Team } from './organisation.ts';

const DEVELOPER_HANDLES: Readonly<Record<Team, string>> = {
  platform:
    'alice.nguyen omar.haddad lena.fischer raj.patel tomas.novak grace.okafor marcus.chen sofia.rossi ' +
    'daniel.kim hana.sato felix.wagner amara.diallo ben.carter ines.moreau kai.lehmann',
  search:
    'priya.sharma jonas.berg mei.lin carlos.mendez olivia.brown arjun.iyer nadia.petrova lucas.silva ' +
    'emma.johansson kwame.mensah yuki.tanaka samuel.levi chloe.martin',
  'support-bot':
    'diego.alvarez fatima.zahra noah.williams elena.popescu ryan.obrien aisha.bello mateo.garcia ' +
    'julia.kowalska ahmed.hassan sara.lindqvist',
  'data-science':
    'wei.zhang ananya.rao pierre.dubois maya.goldberg ivan.sokolov leila.karimi tom.harris zoe.adams ' +
    'kenji.mori isabel.costa victor.ng ruth.abebe anil.menon',
  growth:
    'jack.thompson camila.reyes oscar.lund nina.shah ethan.wright freya.nilsson liam.murphy tara.singh ' +
    'hugo.blanc',
  mobile:
    'min.park lucia.ferrari kofi.asante anna.schmidt ravi.kumar ella.davies jin.woo sophie.laurent ' +
    'david.cohen mia.jensen arash.tehrani',
  security:
    'natasha.ivanova george.miller layla.hussein erik.halvorsen chen.wu paula.santos owen.fraser ' +
    'dana.weiss lars.eriksen',
  'finance-ai':
    'harriet.cole mohammed.ali yara.nasser lukas.meyer sunita.reddy patrick.walsh irene.tsai',
  'legal-ops': 'margaret.hughes andre.lemaire bianca.conti joseph.adeyemi helen.park rafael.ortiz',
};

/** Where developers sit, cycled over the roster: mostly US, some Europe, a few Tokyo. */
const HOME_REGIONS: readonly RegionName[] = [
  'us-east-1',
  'us-west-2',
  'us-east-1',
  'eu-west-1',
  'us-east-1',
  'us-west-2',
  'eu-west-1',
  'us-east-1',
  'ap-northeast-1',
];

export interface Developer {
  readonly handle: string;
  readonly email: string;
  readonly team: Team;
  readonly region: RegionName;
  /** Relative activity: some people live in Claude Code, some open it twice a week. */
  readonly activity: number;
}

export function developers(): Developer[] {
  const out: Developer[] = [];
  for (const [team, handles] of Object.entries(DEVELOPER_HANDLES) as [Team, string][]) {
    for (const handle of handles.split(' ')) {
      const i = out.length;
      out.push({
        handle,
        email: `${handle}@${EMAIL_DOMAIN}`,
        team,
        region: HOME_REGIONS[i % HOME_REGIONS.length] ?? 'us-east-1',
        activity: 0.3 + ((i * 37) % 23) / 10,
      });
    }
  }
  return out;
}

/** Data scientists who call Bedrock from notebooks with long-lived IAM users in the sandbox account. */
export const NOTEBOOK_USERS: readonly string[] = [
  'aditi.joshi',
  'bruno.carvalho',
  'ingrid.holm',
  'tariq.aziz',
  'vera.kuznetsova',
  'will.turner',
];

/** Service IAM users in the CI account; the `svc-` prefix is what the iam-user-map rule keys on. */
export const SERVICE_USERS: readonly string[] = [
  'svc-ci-runner',
  'svc-eval-harness',
  'svc-loadtest',
];

/** Lawyers and paralegals: contract-review tags each call with `user` = their email. */
export const LEGAL_USERS: readonly string[] = [
  'charlotte.evans',
  'femi.okonkwo',
  'greta.lindholm',
  'henrik.dahl',
  'amelia.ross',
  'santiago.vega',
  'keiko.ishii',
  'rachel.stein',
].map((handle) => `${handle}@${EMAIL_DOMAIN}`);
