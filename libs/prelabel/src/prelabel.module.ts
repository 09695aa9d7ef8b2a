import { Module } from '@nestjs/common';
import { TasksModule } from '@contour/tasks';
import { ModelRegistry } from './model-registry.service';
import { PrelabelService } from './prelabel.service';
import { SeriesVolumeLoader } from './series-volume.service';
import { SeriesNifti } from './series-nifti.service';

@Module({ imports: [TasksModule], providers: [ModelRegistry, SeriesVolumeLoader, PrelabelService, SeriesNifti], exports: [ModelRegistry, SeriesVolumeLoader, PrelabelService, SeriesNifti] })
export class PrelabelModule {}
