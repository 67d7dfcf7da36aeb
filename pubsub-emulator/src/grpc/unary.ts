// Adapts a plain (request) => response function into a grpc-js unary handler: injected faults first,
// then the handler; anything thrown becomes a gRPC status (counted and logged), never an exception.
import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import { toServiceError } from '../errors.js';
import type { HandlerContext } from './context.js';

export function unary<Req, Res>(
  ctx: HandlerContext,
  method: string,
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const run = async (): Promise<Res> => {
      const fault = ctx.faults.take(method);
      if (fault) throw fault;
      return handler(call.request ?? ({} as Req), call);
    };
    run().then(
      (response) => callback(null, response),
      (error: unknown) => {
        ctx.errors.record(method, error);
        callback(toServiceError(error));
      },
    );
  };
}
