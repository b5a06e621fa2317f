/**
 * The file form of CloudWatch metrics, what `parseMetricData` reads and what a fetch saves: GetMetricData requests
 * together with their responses. Each document is one object holding the request's `MetricDataQueries` (as in
 * `aws cloudwatch get-metric-data --cli-input-json`) and the response's `MetricDataResults`, matched by `Id`, plus
 * two extension keys of ours, `Region` and `AccountId`. A file holds one document, a JSON array of them, or NDJSON.
 */

/** One saved request + response: `aws cloudwatch get-metric-data --cli-input-json` input merged with its output. */
export interface MetricDataDocument {
  /** Extension: the Region the request went to (else the caller's default). */
  readonly Region?: string;
  /** Extension: the account the metrics belong to (else the caller's default, else null). */
  readonly AccountId?: string;
  readonly StartTime?: string;
  readonly EndTime?: string;
  readonly ScanBy?: string;
  readonly MetricDataQueries: readonly MetricDataQueryJson[];
  readonly MetricDataResults: readonly MetricDataResultJson[];
  readonly Messages?: readonly MessageJson[];
}

export interface MetricDataQueryJson {
  readonly Id: string;
  readonly Label?: string;
  readonly ReturnData?: boolean;
  /** Cross-account observability: the account of this query's metric (wins over the document's). */
  readonly AccountId?: string;
  readonly MetricStat: {
    readonly Metric: {
      readonly Namespace: string;
      readonly MetricName: string;
      readonly Dimensions?: readonly { readonly Name: string; readonly Value: string }[];
    };
    readonly Period: number;
    readonly Stat: string;
  };
}

export interface MetricDataResultJson {
  readonly Id: string;
  readonly Label?: string;
  /** ISO-8601 strings (as the AWS CLI prints them) or epoch seconds (as on the wire). */
  readonly Timestamps: readonly (string | number)[];
  readonly Values: readonly number[];
  readonly StatusCode?: string;
  readonly Messages?: readonly MessageJson[];
}

export interface MessageJson {
  readonly Code?: string;
  readonly Value?: string;
}
