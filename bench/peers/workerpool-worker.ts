/** The workerpool baseline's worker (process mode): the same echo as forkd's bench worker. */
import workerpool from 'workerpool'

workerpool.worker({ echo: (x: unknown) => x })
