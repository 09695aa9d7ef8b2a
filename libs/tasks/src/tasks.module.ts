import { Module } from '@nestjs/common';
import { ConsensusService } from './consensus.service';
import { ReviewService } from './review.service';
import { RoutingService } from './routing.service';
import { TaskGrid } from './task-grid.service';
import { TaskLifecycle } from './task-lifecycle.service';
import { TaskSplitter } from './task-splitter.service';

const providers = [TaskLifecycle, TaskGrid, TaskSplitter, RoutingService, ConsensusService, ReviewService];

@Module({ providers, exports: providers })
export class TasksModule {}
