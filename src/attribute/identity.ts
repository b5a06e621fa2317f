/** Reads the parts of an IAM/STS identity ARN that attribution rules match on. */

export interface IdentityParts {
  readonly arn: string;
  readonly account: string;
  /** `assumed-role`, `user`, `role`, `root`, `federated-user`… */
  readonly kind: string;
  /** Role name for assumed roles and roles. */
  readonly role: string;
  /** Role session name for assumed roles (the per-user handle behind gateways and SSO). */
  readonly sessionName: string;
  /** IAM user name for users. */
  readonly userName: string;
}

const IDENTITY = /^arn:aws[a-z-]*:(?:iam|sts)::(\d*):([a-z-]+)(?:\/(.*))?$/;

export function parseIdentityArn(arn: string): IdentityParts {
  const m = IDENTITY.exec(arn);
  if (m === null) return { arn, account: '', kind: '', role: '', sessionName: '', userName: '' };
  const [, account = '', kind = '', rest = ''] = m;
  if (kind === 'assumed-role') {
    const slash = rest.indexOf('/');
    const role = slash < 0 ? rest : rest.slice(0, slash);
    return {
      arn,
      account,
      kind,
      role,
      sessionName: slash < 0 ? '' : rest.slice(slash + 1),
      userName: '',
    };
  }
  if (kind === 'user') {
    // IAM users may have a path: user/division/alice → the name is the last segment.
    return {
      arn,
      account,
      kind,
      role: '',
      sessionName: '',
      userName: rest.slice(rest.lastIndexOf('/') + 1),
    };
  }
  if (kind === 'role') {
    return {
      arn,
      account,
      kind,
      role: rest.slice(rest.lastIndexOf('/') + 1),
      sessionName: '',
      userName: '',
    };
  }
  return {
    arn,
    account,
    kind,
    role: '',
    sessionName: '',
    userName: kind === 'root' ? 'root' : rest,
  };
}
