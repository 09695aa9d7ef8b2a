import { Module } from '@nestjs/common';
import { IngestModule } from '@contour/ingest';
import { PrelabelModule } from '@contour/prelabel';
import { ExportService } from './export.service';

@Module({ imports: [IngestModule, PrelabelModule], providers: [ExportService], exports: [ExportService] })
export class ExportModule {}
