/**
 * Entry point of a worker process, started by the server with a WorkerBootConfig in argv[2]. The
 * worker's life is in life.ts.
 */
import { runWorker } from './life.js'

void runWorker()
