import { DeployFunctionRequest, FunctionRecord } from "../../contracts";

/** Where function code and metadata live. The AWS implementation keeps code in S3, metadata in DynamoDB. */
export interface FunctionStore {
  put(name: string, request: DeployFunctionRequest): Promise<{ record: FunctionRecord; changed: boolean }>;
  get(name: string): Promise<FunctionRecord | undefined>;
  list(): Promise<FunctionRecord[]>;
  delete(name: string): Promise<boolean>;
}
