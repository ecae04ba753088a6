// Where the fleet's other tasks run: Celery's `task_routes`, task name → short queue name (the SQS
// queue is `<APP_ENV>-<queue>`, locally `<BE_WORKER_USER>-local-<queue>`, as for queues.ts). When a
// task of this worker ends, the next step of its chain, its links and its link_errors are sent to
// the queue their task routes to; sendTask() uses it for tasks that are not this worker's. This
// worker's own tasks (queues.ts) are known already. A pattern may end in `*`: 'images.*'.
import type { TaskRoutes } from '../runtime/index.ts';

export const taskRoutes: TaskRoutes = {
  // 'images.store': 'images-store',
};
