import { Module } from '@nestjs/common';
import { TasksModule } from '@contour/tasks';
import { ModelRegistry } from './model-registry.service';
import { PrelabelService } from './prelabel.service';
import { SeriesVolumeLoader } from './series-volume.service';

@Module({ imports: [TasksModule], providers: [ModelRegistry, SeriesVolumeLoader, PrelabelService], exports: [ModelRegistry, SeriesVolumeLoader, PrelabelService] })
export class PrelabelModule {}
