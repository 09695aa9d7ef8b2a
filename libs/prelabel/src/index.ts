export * from './model-registry.service';
export * from './series-volume.service';
export * from './prelabel.service';
export * from './prelabel.module';
export * from './series-nifti.service';
