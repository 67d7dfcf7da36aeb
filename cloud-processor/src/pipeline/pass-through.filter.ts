// Nest's default RPC exception filter replaces any error with "Internal server error". The transport
// needs the real one: its message goes into logs and into the dead-letter reason.
import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

@Catch()
export class PassThroughRpcFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
