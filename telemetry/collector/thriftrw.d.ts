/** The part of thriftrw (untyped CommonJS) the Jaeger receiver uses. */
declare module 'thriftrw' {
  export interface ThriftResult<T> {
    readonly err: Error | null;
    readonly value: T;
  }
  export interface ThriftStructModel {
    fromBufferResult(buffer: Buffer): ThriftResult<unknown>;
    toBufferResult(value: unknown): ThriftResult<Buffer>;
  }
  export class Thrift {
    constructor(options: {
      source: string;
      strict?: boolean;
      allowOptionalArguments?: boolean;
      defaultAsUndefined?: boolean;
    });
    getType(name: string): ThriftStructModel;
  }
}
