import { Controller, Get } from '@nestjs/common';
import { Public } from '../common/scopes.js';
import { buildOpenApiDocument } from './openapi.document.js';

@Controller()
@Public()
export class OpenApiController {
  private readonly document = buildOpenApiDocument();

  @Get('docs')
  docs() {
    return this.document;
  }

  @Get('docs/openapi.json')
  json() {
    return this.document;
  }
}
